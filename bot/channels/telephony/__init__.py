"""Phone calls: Twilio Media Streams and Asterisk AudioSocket lines into the gateway's calls."""
