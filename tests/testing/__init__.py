"""Tests of the testing kit, atlassian_jwt.testing."""
