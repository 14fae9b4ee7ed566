"""Twilio Programmable Messaging (SMS) as a Segue destination."""
