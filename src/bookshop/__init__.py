"""bookshop: a bookshop backend whose data layer is plain SQL."""
