"""What people see while a matrix runs (rich progress display): not part of the cell key."""
