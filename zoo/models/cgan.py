"""cGAN: Mirza & Osindero, "Conditional Generative Adversarial Nets", arXiv 1411.1784, 2014
(https://arxiv.org/abs/1411.1784).

Section 3.2 extends the GAN of Goodfellow et al. 2014 by feeding the class y to both nets (Fig. 2: "y is fed into
both the discriminator and generator as additional input layer"); the value function becomes eq. (2),

    min_G max_D V(D, G) = E_{x~p_data}[log D(x|y)] + E_{z~p_z}[log(1 - D(G(z|y)))],

with D(x|y) = sigmoid(score(x, y)). The critic update ascends eq. (2) on real images with their own labels and on
G(z|y') for labels y' drawn uniformly from the classes; the generator update descends the non-saturating
-E log D(G(z|y)|y) (``objective="non_saturating"``, the default; Goodfellow et al.'s Section 3 advice) or eq. (2)
as written (``objective="minimax"``). One D update per G update, as in Algorithm 1 of Goodfellow et al.

Conditioning (``zoo.nets.conditional``): y one-hot. G: [z; onehot(y)] at G's input. D: for vectors [x; onehot(y)]
at D's input (the paper's MLP case); for images the usual convolutional adaptation, K one-hot feature maps
stacked on the image channels (map k is 1 everywhere when y = k).

Paper defaults (Section 3.2, MNIST): z of 100 dims from a uniform prior, G with ReLU layers (z -> 200, y -> 1000,
joined -> 1200) and a sigmoid output, D with maxout layers and dropout 0.5, SGD with momentum (0.5 rising to
0.7), learning rate 0.1 decayed to 1e-6, minibatch 100.
Departures from the paper: y enters at the input layer (concatenation) rather than through separate hidden
layers; DCGAN nets and optimizer for images (Radford et al. 2016: Adam(2e-4, betas 0.5, 0.999), batch norm,
tanh output) and the zoo's MLPs for vectors; z ~ N(0, I) by default (``latent_distribution="uniform"`` for
U[-1, 1]); non-saturating G loss by default.
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo import losses
from zoo.models.conditional import ConditionalNoiseToImageGAN
from zoo.models.generator_objective import GoodfellowObjective
from zoo.nets.conditional import LabelConcatDiscriminator, LabelConcatGenerator
from zoo.registry import register_variant


@register_variant
class CGAN(GoodfellowObjective, ConditionalNoiseToImageGAN):
    """Conditional GAN (Mirza & Osindero 2014): G(z|y), D(x|y), the GAN objective of eq. (2)."""

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        return (
            LabelConcatGenerator(image_shape, hp.latent_dim, self.num_classes, hp.width, hp.g_norm),
            LabelConcatDiscriminator(image_shape, self.num_classes, hp.width, hp.d_norm),
        )

    def discriminator_loss(
        self, real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor
    ) -> dict[str, Tensor]:
        # eq. (2): ascend log D(x|y) + log(1 - D(G(z|y')|y')), i.e. descend -V
        return {"loss": losses.minimax_d(self.discriminator(real, real_labels), self.discriminator(fake, fake_labels))}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        fake, labels = self.generate_labelled(batch_size)  # fresh z and y; scored by the just-updated D
        return {"loss": self.generator_objective(self.discriminator(fake, labels))}
