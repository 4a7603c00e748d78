"""Dispatch: claim stored messages, hand them to channels, record outcomes and receipts."""
