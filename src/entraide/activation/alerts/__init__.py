"""Official weather alerts, normalised: the sources that wake the platform up."""
