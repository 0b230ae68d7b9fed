"""HeadSpin as a backend: its options and settings section (``plugin``, ``settings``), the backend over its
Session and Performance Monitoring APIs (``backend``), tests sharing one capture as labels and performance
events (``parts``), and the routes of all of it (``routes``)."""
