#!/bin/sh
# Like the official n8n image: arguments go to n8n; none means `n8n start`.
if [ "$#" -gt 0 ]; then
	exec n8n "$@"
fi
exec n8n start
