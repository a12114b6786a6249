"""runtime.scripts: serving scripts: loading them with the standard library, mounting their
declarations, invoking handlers under their limits, the request record scripts see, the
thread bridge (`--async`) and reload."""
