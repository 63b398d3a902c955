"""`tidings tui`: a terminal chat client built on the SDK and its E2EE client layer."""
