"""The contact-centre gateway: customer pages, browser calls, the agent desk and their API."""
