"""The servers clientscore is measured against: Seldon MLServer and a bare FastAPI app."""
