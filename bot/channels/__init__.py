"""The customer lines of the gateway: web chat, browser calls and phone calls (Twilio, Asterisk);
each turns its line into conversation turns for the router and, for calls, a voice pipeline."""
