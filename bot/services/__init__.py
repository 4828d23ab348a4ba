"""Services: plain values in, plain results out. They know nothing of Telegram.

Every function takes the caller's `AsyncSession` and never commits: the caller (a handler,
a job or a command-line command) owns the unit of work.
"""
