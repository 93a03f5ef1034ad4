//! Health-check success codes (`Matcher.HttpCode`): `200`, `200,202`, `200-299`.
