"""Domain (bank): accounts, purchases (expenses and card charges) and deposits synced from QBO."""
