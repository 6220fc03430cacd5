"""Call outcomes: what a client said to each action offered, recorded by an agent or a CRM."""
