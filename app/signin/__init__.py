"""People signing in to the pages: server-side browser sessions, roles, and OpenID Connect."""
