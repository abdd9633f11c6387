"""Pure text: the document model, light markup, templates, facts and the content check."""
