"""The demo district and the payment simulator (`tuition demo`, `tuition simulate`)."""
