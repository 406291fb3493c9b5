"""The testing kit with the web frameworks and HTTP clients, as an app's own tests use it."""
