"""The gateway web app: the route table, pages, health, the agent desk's and trainers' routes and
the OpenAPI description; `server` runs it."""
