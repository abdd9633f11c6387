"""Mobile delta sync (`changes`) through real HTTP: a client mirrors the published catalog
from the feed alone, across editorial changes, and ends up equal to what readers see."""
