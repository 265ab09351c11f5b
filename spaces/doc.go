package spaces
