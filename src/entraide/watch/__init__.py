"""The watch: what the field says about risks, crises and solidarity, read from the networks
and institutional feeds, ranked for the community managers.

- :mod:`.config`: themes, reference accounts and sources as data (``watch.yaml``), checked
  whole with line numbers;
- :mod:`.x_reads`: X recent search's query from the themes and its daily read budget;
- :mod:`.items`: what a source answered, as the watch's items;
- :mod:`.ranking`: the score with its reasons, near-duplicates grouped;
- :mod:`.collect`: one collection run, X paid before it is read, each source failing alone.
"""
