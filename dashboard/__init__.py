"""The EpochScope web app: :func:`dashboard.factory.create_app` builds it; the page's services are the modules
here, its views are :mod:`dashboard.panels`."""
