//! The EC2 networking API over a world's simulated network: zones, regions, VPCs, subnets,
//! security groups and their tags.
//!
//! Handlers validate, then change `World::network`; they never touch Docker, read a clock or
//! write wire bytes. Network interfaces, route tables and internet gateways are not simulated, so
//! those operations keep the generated `NotImplemented` answer rather than invent data.

mod filter;
mod groups;
mod rules;
mod subnets;
mod tags;
mod vpcs;
mod zones;

#[cfg(test)]
mod tests;

use ecsim_api::ec2 as api;
use ecsim_api::ec2::Ec2Api;
use ecsim_core::Rng;
use ecsim_protocol::AwsError;

use crate::engine::Ctx;
use crate::world::World;
use rules::Direction;

/// The EC2 handler for one call against one world.
pub struct Ec2Handler<'a, 'b> {
    pub world: &'a mut World,
    pub ctx: &'a mut Ctx<'b>,
}

/// `<prefix>-` and 17 lowercase hex digits from the seeded RNG, drawn again on the (unlikely)
/// clash with an existing id.
fn new_id(prefix: &str, rng: &mut Rng, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = format!("{prefix}-{}", rng.hex(17));
        if !taken(&id) {
            return id;
        }
    }
}

impl Ec2Api for Ec2Handler<'_, '_> {
    fn describe_availability_zones(
        &mut self,
        input: api::DescribeAvailabilityZonesRequest,
    ) -> Result<api::DescribeAvailabilityZonesResult, AwsError> {
        zones::describe_zones(self.world, input)
    }

    fn describe_regions(
        &mut self,
        input: api::DescribeRegionsRequest,
    ) -> Result<api::DescribeRegionsResult, AwsError> {
        zones::describe_regions(self.world, input)
    }

    fn describe_account_attributes(
        &mut self,
        input: api::DescribeAccountAttributesRequest,
    ) -> Result<api::DescribeAccountAttributesResult, AwsError> {
        zones::describe_account_attributes(self.world, input)
    }

    fn describe_vpcs(
        &mut self,
        input: api::DescribeVpcsRequest,
    ) -> Result<api::DescribeVpcsResult, AwsError> {
        vpcs::describe(self.world, input)
    }

    fn create_vpc(&mut self, input: api::CreateVpcRequest) -> Result<api::CreateVpcResult, AwsError> {
        vpcs::create(self.world, self.ctx.rng, input)
    }

    fn delete_vpc(&mut self, input: api::DeleteVpcRequest) -> Result<(), AwsError> {
        vpcs::delete(&mut self.world.network, input)
    }

    fn describe_vpc_attribute(
        &mut self,
        input: api::DescribeVpcAttributeRequest,
    ) -> Result<api::DescribeVpcAttributeResult, AwsError> {
        vpcs::describe_attribute(&self.world.network, input)
    }

    fn modify_vpc_attribute(&mut self, input: api::ModifyVpcAttributeRequest) -> Result<(), AwsError> {
        vpcs::modify_attribute(&mut self.world.network, input)
    }

    fn describe_subnets(
        &mut self,
        input: api::DescribeSubnetsRequest,
    ) -> Result<api::DescribeSubnetsResult, AwsError> {
        subnets::describe(self.world, input)
    }

    fn create_subnet(
        &mut self,
        input: api::CreateSubnetRequest,
    ) -> Result<api::CreateSubnetResult, AwsError> {
        subnets::create(self.world, self.ctx.rng, input)
    }

    fn delete_subnet(&mut self, input: api::DeleteSubnetRequest) -> Result<(), AwsError> {
        subnets::delete(&mut self.world.network, input)
    }

    fn modify_subnet_attribute(&mut self, input: api::ModifySubnetAttributeRequest) -> Result<(), AwsError> {
        subnets::modify_attribute(&mut self.world.network, input)
    }

    fn describe_security_groups(
        &mut self,
        input: api::DescribeSecurityGroupsRequest,
    ) -> Result<api::DescribeSecurityGroupsResult, AwsError> {
        groups::describe(self.world, input)
    }

    fn create_security_group(
        &mut self,
        input: api::CreateSecurityGroupRequest,
    ) -> Result<api::CreateSecurityGroupResult, AwsError> {
        groups::create(self.world, self.ctx.rng, input)
    }

    fn delete_security_group(
        &mut self,
        input: api::DeleteSecurityGroupRequest,
    ) -> Result<api::DeleteSecurityGroupResult, AwsError> {
        groups::delete(&mut self.world.network, input)
    }

    fn authorize_security_group_ingress(
        &mut self,
        input: api::AuthorizeSecurityGroupIngressRequest,
    ) -> Result<api::AuthorizeSecurityGroupIngressResult, AwsError> {
        rules::authorize(&mut self.world.network, Direction::Ingress, input.into())?;
        Ok(api::AuthorizeSecurityGroupIngressResult {
            r#return: Some(true),
            security_group_rules: None,
        })
    }

    fn authorize_security_group_egress(
        &mut self,
        input: api::AuthorizeSecurityGroupEgressRequest,
    ) -> Result<api::AuthorizeSecurityGroupEgressResult, AwsError> {
        rules::authorize(&mut self.world.network, Direction::Egress, input.into())?;
        Ok(api::AuthorizeSecurityGroupEgressResult {
            r#return: Some(true),
            security_group_rules: None,
        })
    }

    fn revoke_security_group_ingress(
        &mut self,
        input: api::RevokeSecurityGroupIngressRequest,
    ) -> Result<api::RevokeSecurityGroupIngressResult, AwsError> {
        let unknown = rules::revoke(&mut self.world.network, Direction::Ingress, input.into())?;
        Ok(api::RevokeSecurityGroupIngressResult {
            r#return: Some(true),
            unknown_ip_permissions: (!unknown.is_empty()).then_some(unknown),
            revoked_security_group_rules: None,
        })
    }

    fn revoke_security_group_egress(
        &mut self,
        input: api::RevokeSecurityGroupEgressRequest,
    ) -> Result<api::RevokeSecurityGroupEgressResult, AwsError> {
        let unknown = rules::revoke(&mut self.world.network, Direction::Egress, input.into())?;
        Ok(api::RevokeSecurityGroupEgressResult {
            r#return: Some(true),
            unknown_ip_permissions: (!unknown.is_empty()).then_some(unknown),
            revoked_security_group_rules: None,
        })
    }

    fn create_tags(&mut self, input: api::CreateTagsRequest) -> Result<(), AwsError> {
        tags::create(&mut self.world.network, input)
    }

    fn delete_tags(&mut self, input: api::DeleteTagsRequest) -> Result<(), AwsError> {
        tags::delete(&mut self.world.network, input)
    }

    fn describe_tags(
        &mut self,
        input: api::DescribeTagsRequest,
    ) -> Result<api::DescribeTagsResult, AwsError> {
        tags::describe(&self.world.network, input)
    }
}
