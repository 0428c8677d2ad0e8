"""Every write to disputes: intake, the mediation procedure, its records, reviews and set-up."""
