"""AC-GAN: Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier GANs", ICML 2017
(arXiv 1610.09585, https://arxiv.org/abs/1610.09585).

Section 3: every generated sample has a class c ~ p_c besides its noise z, X_fake = G(c, z). The discriminator
gives a distribution over sources and one over classes, P(S | X), P(C | X) = D(X): a shared body with two heads
(``zoo.nets.conditional.AuxiliaryClassifierDiscriminator``). The objective has two parts,

    L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]     (eq. 2)
    L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)]           (eq. 3)

D is trained to maximize L_S + L_C, G to maximize L_C - L_S. Here P(S = real | X) = sigmoid(score) and
P(C | X) = softmax(logits); c is the real batch's own label for X_real and, for X_fake, the label the fake was
generated with. D descends -(L_S + L_C) = minimax_d(scores) + CE(real logits, c_real) + CE(fake logits, c_fake).
G descends -L_C + (its L_S term): the real half of L_C does not depend on G, so G's class term is
CE(fake logits, c_fake); its source term is the non-saturating -E log P(S = real | X_fake) (``objective=
"non_saturating"``, the default, standard practice as for the original GAN) or +E log P(S = fake | X_fake) as
written (``objective="minimax"``, = -E softplus(score)). Both terms enter each net's update with weight 1, as
in the paper.

G is conditioned as in cGAN (``zoo.nets.conditional.LabelConcatGenerator``): [z; onehot(c)] at G's input, i.e.
a learned class embedding added to G's first layer's response to z.

Paper defaults (the paper's appendix): Adam(lr = 2e-4, beta1 = 0.5, beta2 = 0.999), one D update per G update,
DCGAN-style nets (transposed convolutions in G, LeakyReLU and dropout in D).
Departures from the paper: the zoo's DCGAN nets (no dropout in D) and MLPs for vectors; the non-saturating
generator objective by default; z ~ N(0, I) by default (``latent_distribution="uniform"`` for U[-1, 1]).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from zoo import losses
from zoo.models.conditional import ConditionalNoiseToImageGAN
from zoo.models.generator_objective import GoodfellowObjective
from zoo.nets.conditional import AuxiliaryClassifierDiscriminator, LabelConcatGenerator
from zoo.registry import register_variant


@register_variant
class ACGAN(GoodfellowObjective, ConditionalNoiseToImageGAN):
    """Auxiliary classifier GAN (Odena et al. 2017): D predicts the source and the class (eqs. 2-3)."""

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        return (
            LabelConcatGenerator(image_shape, hp.latent_dim, self.num_classes, hp.width, hp.g_norm),
            AuxiliaryClassifierDiscriminator(image_shape, self.num_classes, hp.width, hp.d_norm),
        )

    def discriminator_loss(
        self, real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor
    ) -> dict[str, Tensor]:
        real_source, real_class = self.discriminator(real)
        fake_source, fake_class = self.discriminator(fake)
        source = losses.minimax_d(real_source, fake_source)  # -L_S, eq. (2)
        classes = F.cross_entropy(real_class, real_labels) + F.cross_entropy(fake_class, fake_labels)  # -L_C, eq. (3)
        return {"loss": source + classes, "d_source": source, "d_class": classes}  # D maximizes L_S + L_C

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        fake, labels = self.generate_labelled(batch_size)  # fresh z and c; scored by the just-updated D
        source_scores, class_logits = self.discriminator(fake)
        source = self.generator_objective(source_scores)  # G's side of -L_S (non-saturating by default)
        classes = F.cross_entropy(class_logits, labels)  # -(fake half of L_C): the labels G was given
        return {"loss": source + classes, "g_source": source, "g_class": classes}  # G maximizes L_C - L_S
