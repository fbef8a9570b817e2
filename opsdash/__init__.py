"""opsdash: containers, pipelines, deployments and models on one terminal screen."""

__version__ = "0.1.0"
