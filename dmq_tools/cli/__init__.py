"""The `dmq` command line: thin verbs over Client, Worker, Scheduler and Inspector."""
