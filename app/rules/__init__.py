"""The rules engine: decision tables (GoRules JDM) evaluated with zen-engine. Pure Python."""
