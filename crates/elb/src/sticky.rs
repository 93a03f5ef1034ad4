//! Stickiness cookies: `AWSALBTG` (target group), `AWSALB` (target), `AWSALBAPP-0` (application
//! cookie stickiness).
