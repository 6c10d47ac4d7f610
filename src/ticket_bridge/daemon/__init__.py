"""The long-running side: webhook receivers, metrics, and the loop that feeds the engine."""
