"""Domain (hygiene): triage state of data-quality issues — dismissals, snoozes, resolutions."""
