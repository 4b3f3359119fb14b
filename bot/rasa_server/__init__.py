"""Everything the Rasa server loads (credentials.yml, config.yml): the input channels, the
frustration check and meter, speed-ups and the unknown-words NLU component. The only package
that imports rasa."""
