"""Conversations: a user's questions and answers, kept when the client names a conversation."""
