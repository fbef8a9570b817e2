"""The Textual screens: the main grid, details, logs, pipelines, models, deployments, dialogs."""
