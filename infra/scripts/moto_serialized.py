"""Starts moto's server with DynamoDB requests handled one at a time.

moto implements TransactWriteItems as "check, apply, and on failure restore a snapshot of the
tables", without a lock, while its server handles requests on threads: two concurrent transactions
can both pass their conditions, and one's rollback can restore a snapshot that predates the
other's writes. DynamoDB itself isolates transactions (serializable), and our concurrency tests
rely on that, so this launcher serialises DynamoDB calls. Other services (SQS long polls) stay
concurrent. Arguments are moto_server's.
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_dynamodb = threading.RLock()
_call_action = DynamoHandler.call_action


def _serialised_call_action(self):
    with _dynamodb:
        return _call_action(self)


DynamoHandler.call_action = _serialised_call_action

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
