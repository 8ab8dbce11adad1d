"""The `pumas` command: thin click commands, one module per command group."""
