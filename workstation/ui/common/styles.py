"""Looks shared by panels: what marks AI output on screen."""

#: The label every AI result carries (algorithm name and version): never to be missed.
AI_LABEL_STYLE = (
    "QLabel { background: #5a3a00; color: #ffd27f; border: 1px solid #ffb000; "
    "padding: 3px; font-weight: bold; }"
)
