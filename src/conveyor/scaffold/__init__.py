"""`conveyor init`: add the thin noxfile, tasks, hooks, workflow and config to a project."""
