"""The real-time core: conversations, messages, the broker, the visitor protocol and pages."""
