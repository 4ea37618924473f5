"""The dashboard's routes, one module per page: sign-in, the week's queue, users."""
