"""Stand-ins for the outside world that speak its real protocols (issue 5: the SMSC simulator).

``smsc.py``       ``SmscSimulator``: an operator's SMSC that ESMEs (our upstream connectors, smpplib …)
                  bind to, with the scripted behaviours of ``behaviour.py``.
``behaviour.py``  ``Behaviour`` (latency, throttling, errors, generic_nack, silence, unbind / drop /
                  bad PDU mid-flight, receipt id formats, data_sm receipts, delays, delivery ratio)
                  and the named presets of ``smsgate simulator smpp --behaviour``.
"""
