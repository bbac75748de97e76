"""Conversations and tool calls (issue 15): conversation cases, tool calls and their checks,
simulated conversations. See docs/conversations.md and docs/design/0009-conversations.md."""
