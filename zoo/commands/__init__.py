"""The command layer: ``gan-zoo`` (LightningCLI fit/validate/test/predict) and its tools (sample, evaluate,
translate, train-extractor). The only layer that wires variants, datamodules and callbacks together;
``zoo/__init__`` does not import it."""
