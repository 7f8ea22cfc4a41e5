"""Users' ratings of answers (`POST /v1/feedback`), kept durably for the fine-tuning job."""
