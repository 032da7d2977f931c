"""What the platform costs in AWS: list prices, and the bill of counted usage."""
