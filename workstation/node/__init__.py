"""The triage node: receives studies from the scanner, analyses them on arrival through
the same capability workflows as the window and the CLI, sends the results to the PACS,
and alerts the stroke team. A third skin over the capabilities, never a copy of them."""
