"""Sources: one module per outside format, each turning raw input into validated store rows."""
